//! `service lmtp`: LMTP on its unix and inet listeners. Recipients are looked up in the
//! userdb (`auth-userdb`); each delivery takes on the recipient's identity (uid, gid,
//! groups, as a mail process has them) and saves through the storage API, so files are
//! created as the user and a failure stays with that recipient. As root that identity is
//! temporary (effective ids only, restored after the delivery, as Dovecot's lmtp does it);
//! a recipient with a chroot is delivered by a child process that chroots and stays that
//! user. STARTTLS on inet
//! listeners with the `ssl` settings; `lmtp_user_concurrency_limit` through slot files
//! under `base_dir` (see [`delivery::ConcurrencySlots`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Instant;

use cote::auth::client::{MasterClient, PassReply, UserReply};
use cote::config::var_expand::{self, MailUserVars, Vars};
use cote::config::{Config, FilterQuery, Settings};
use cote::delivery::{self, ConcurrencySlots, MessageBuffer, Slot};
use cote::lmtp::message::HdrDeliveryAddress;
use cote::lmtp::proxy::{LmtpTarget, TargetError};
use cote::lmtp::{
    serve_lmtp, Delivered, Deliverer, LmtpSettings, Lookup, Peer, Recipient, StartTls,
};
use cote::login::tls::start_tls;
use cote::master::mail_login::mail_user_restrict;
use cote::master::privileges::{self, Restrict};
use cote::master::{Connection, Stream};
use cote::net::conn::parse_networks;
use cote::net::tls::TlsServer;
use cote::net::{ClientStream, ConnInfo};
use cote::storage::error::{ErrorKind, StorageError};
use cote::storage::user::{MailUser, MailUserInfo};

/// An lmtp process, still root: TLS keys are read now (for STARTTLS).
pub fn lmtp_init(config: &Config) -> Result<(), String> {
    let lmtp = config.settings(&FilterQuery {
        protocol: Some("lmtp".into()),
        ..FilterQuery::default()
    });
    if lmtp.str("ssl") != "no" {
        TlsServer::prepare(config, "lmtp");
    }
    Ok(())
}

/// `service lmtp`: one connection per call.
pub fn lmtp(config: &Config, conn: Connection) {
    let peer_ip = conn.remote.ip();
    let settings = config.settings(&FilterQuery {
        protocol: Some("lmtp".into()),
        local_ip: conn.local.ip(),
        remote_ip: peer_ip,
        local_name: None,
    });
    let hdr_delivery_address =
        match HdrDeliveryAddress::parse(settings.str("lmtp_hdr_delivery_address")) {
            Some(h) => h,
            None => {
                log::error!("Invalid lmtp_hdr_delivery_address");
                return;
            }
        };
    let hostname = match settings.str("hostname") {
        "" => cote::hostname::hostname()
            .unwrap_or("localhost")
            .to_string(),
        name => name.to_string(),
    };
    let trusted_networks = match parse_networks(settings.str("login_trusted_networks")) {
        Ok(n) => n,
        Err(e) => {
            log::error!("login_trusted_networks: {e}");
            return;
        }
    };
    let lmtp_settings = LmtpSettings {
        hostname,
        login_greeting: settings.str("login_greeting").to_string(),
        recipient_delimiter: settings.str("recipient_delimiter").to_string(),
        lmtp_add_received_header: settings.bool("lmtp_add_received_header"),
        lmtp_hdr_delivery_address: hdr_delivery_address,
        trusted_networks,
    };
    let peer = Peer {
        ip: peer_ip,
        name: peer_ip.map_or_else(|| "local".to_string(), |ip| ip.to_string()),
    };
    let temp_dir = match var_expand::expand(
        settings.str("mail_temp_dir"),
        &Vars::mail_user(&MailUserVars {
            service: "lmtp".into(),
            ..MailUserVars::default()
        }),
    ) {
        Ok(dir) => PathBuf::from(dir),
        Err(e) => {
            log::error!("Failed to expand mail_temp_dir: {e}");
            return;
        }
    };
    let limit = settings.uint("lmtp_user_concurrency_limit");
    let mut deliverer = UserDelivery {
        settings: &settings,
        temp_dir,
        slots: (limit > 0).then(|| {
            ConcurrencySlots::new(
                &crate::base_dir_path(config, "lmtp-concurrency"),
                u32::try_from(limit).unwrap_or(u32::MAX),
            )
        }),
        // `auth_socket_path`: `director-userdb` when a director places the recipients.
        userdb_socket: crate::base_dir_path(config, settings.str("auth_socket_path")),
        userdb: None,
        users: HashMap::new(),
        local_ip: conn.local.ip().map(|ip| ip.to_string()),
        local: match conn.local {
            cote::master::Address::Inet(addr) => Some(addr),
            cote::master::Address::Unix(_) => None,
        },
        proxy: settings.bool("lmtp_proxy"),
        remote_ip: peer_ip.map(|ip| ip.to_string()),
    };
    let tls_offered = settings.str("ssl") != "no";
    let (transport, mut tls) = match conn.stream {
        Stream::Tcp(tcp) => {
            let info = match ConnInfo::from_stream(&tcp, conn.listener.ssl) {
                Ok(info) => info,
                Err(e) => {
                    log::info!("Disconnect from {}: {e}", peer.name);
                    return;
                }
            };
            let transport = Transport::new(Inner::Tcp(ClientStream::plain(tcp)));
            let mut tls = TcpTls {
                transport: transport.clone(),
                info,
                offered: tls_offered && TlsServer::get().is_some(),
                description: None,
            };
            // An `ssl = yes` listener (LMTPS): TLS before the greeting.
            if conn.listener.ssl {
                if let Err(e) = tls.start() {
                    log::info!("Disconnect from {}: {e}", peer.name);
                    return;
                }
            }
            (transport, Box::new(tls) as Box<dyn StartTls>)
        }
        Stream::Unix(unix) => (
            Transport::new(Inner::Unix(unix)),
            Box::new(cote::lmtp::NoTls) as Box<dyn StartTls>,
        ),
    };
    let _ = transport.set_timeouts(Some(cote::lmtp::session::IDLE_TIMEOUT));
    serve_lmtp(
        transport.clone(),
        transport,
        &lmtp_settings,
        &peer,
        &mut deliverer,
        tls.as_mut(),
    );
}

/// The client connection, shared by the session's reader and writer; STARTTLS swaps what
/// is inside for both.
#[derive(Clone)]
struct Transport(Rc<RefCell<Inner>>);

enum Inner {
    Tcp(ClientStream),
    Unix(UnixStream),
}

impl Transport {
    fn new(inner: Inner) -> Transport {
        Transport(Rc::new(RefCell::new(inner)))
    }

    fn set_timeouts(&self, timeout: Option<std::time::Duration>) -> io::Result<()> {
        match &*self.0.borrow() {
            Inner::Tcp(s) => s.with_tcp(|t| {
                t.set_read_timeout(timeout)?;
                t.set_write_timeout(timeout)
            }),
            Inner::Unix(s) => {
                s.set_read_timeout(timeout)?;
                s.set_write_timeout(timeout)
            }
        }
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut *self.0.borrow_mut() {
            Inner::Tcp(s) => s.read(buf),
            Inner::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut *self.0.borrow_mut() {
            Inner::Tcp(s) => s.write(buf),
            Inner::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut *self.0.borrow_mut() {
            Inner::Tcp(s) => s.flush(),
            Inner::Unix(s) => s.flush(),
        }
    }
}

/// STARTTLS on an inet listener: the `ssl` settings of protocol lmtp, as the login
/// processes use them.
struct TcpTls {
    transport: Transport,
    info: ConnInfo,
    offered: bool,
    /// The active TLS, described.
    description: Option<String>,
}

impl StartTls for TcpTls {
    fn offered(&self) -> bool {
        self.offered && !self.active()
    }

    fn active(&self) -> bool {
        matches!(&*self.transport.0.borrow(), Inner::Tcp(s) if s.is_tls())
    }

    fn description(&self) -> Option<String> {
        self.description.clone()
    }

    fn start(&mut self) -> Result<(), String> {
        let tcp: TcpStream = match &*self.transport.0.borrow() {
            Inner::Tcp(s) => s
                .with_tcp(TcpStream::try_clone)
                .map_err(|e| format!("dup() failed: {}", cote::errtext::os_error_text(&e)))?,
            Inner::Unix(_) => return Err("TLS is not available on UNIX sockets".into()),
        };
        let deadline = Instant::now() + cote::lmtp::session::IDLE_TIMEOUT;
        let stream =
            start_tls(tcp, &self.info, TlsServer::get(), Some(deadline), "lmtp").map_err(|e| {
                match e {
                    cote::login::tls::TlsFailure::InitFailed(why) => {
                        log::error!("{why}");
                        "TLS initialization failed".into()
                    }
                    cote::login::tls::TlsFailure::Timeout => "TLS handshaking timed out".into(),
                    cote::login::tls::TlsFailure::Handshake(e) => format!("TLS handshaking: {e}"),
                }
            })?;
        self.info.tls = true;
        if let ClientStream::Tls(tls) = &stream {
            self.description = Some(tls.borrow().description());
        }
        *self.transport.0.borrow_mut() = Inner::Tcp(stream);
        self.transport
            .set_timeouts(Some(cote::lmtp::session::IDLE_TIMEOUT))
            .map_err(|e| cote::errtext::os_error_text(&e))
    }
}

/// Looks recipients up in the userdb and delivers as each of them.
struct UserDelivery<'a> {
    settings: &'a Settings<'a>,
    /// `mail_temp_dir`: where large messages are spooled while they arrive.
    temp_dir: PathBuf,
    /// `lmtp_user_concurrency_limit` (when not 0).
    slots: Option<ConcurrencySlots>,
    userdb_socket: PathBuf,
    userdb: Option<MasterClient>,
    /// The userdb's answer for each user looked up: its user name and fields.
    users: HashMap<String, (String, Vec<(String, String)>)>,
    local_ip: Option<String>,
    /// The address the client connected to (TCP only), for proxy loops.
    local: Option<SocketAddr>,
    /// `lmtp_proxy`: recipients are looked up in the passdb for proxy fields first.
    proxy: bool,
    remote_ip: Option<String>,
}

impl UserDelivery<'_> {
    /// `lmtp_proxy`: the passdb's proxy fields for `user`; `None`: delivered here (not
    /// found, or no usable `proxy`).
    fn proxy_lookup(
        &mut self,
        user: &str,
        params: &[(String, String)],
    ) -> Option<Lookup<Option<Slot>>> {
        let reply = self.userdb.as_mut()?.pass(user, "lmtp", params);
        match reply {
            Ok(PassReply::Pass { fields }) => {
                match LmtpTarget::from_fields(user, &fields, self.local) {
                    Ok(Some(target)) => Some(Lookup::Proxy(target)),
                    Ok(None) => None,
                    Err(TargetError::Loop) => Some(Lookup::ProxyLoop),
                    Err(TargetError::Invalid(e)) => {
                        log::error!("{e}");
                        None
                    }
                }
            }
            Ok(PassReply::NotFound) => None,
            Ok(PassReply::Fail { reason }) => {
                log::error!(
                    "Failed to lookup user {user}: {}",
                    reason.as_deref().unwrap_or("Temporary user lookup failure")
                );
                Some(Lookup::TempFail)
            }
            Err(e) => {
                log::error!("Failed to lookup user {user}: {e}");
                self.userdb = None;
                Some(Lookup::TempFail)
            }
        }
    }
}

impl Deliverer for UserDelivery<'_> {
    type Claim = Option<Slot>;

    fn lookup(&mut self, user: &str) -> Lookup<Option<Slot>> {
        if self.userdb.is_none() {
            match MasterClient::connect(&self.userdb_socket) {
                Ok(c) => self.userdb = Some(c),
                Err(e) => {
                    log::error!(
                        "Failed to lookup user {user}: connect({}) failed: {}",
                        self.userdb_socket.display(),
                        cote::errtext::os_error_text(&e)
                    );
                    return Lookup::TempFail;
                }
            }
        }
        let mut params = Vec::new();
        if let Some(ip) = &self.local_ip {
            params.push(("lip".to_string(), ip.clone()));
        }
        if let Some(ip) = &self.remote_ip {
            params.push(("rip".to_string(), ip.clone()));
        }
        if let Some(port) = self.local.map(|l| l.port()) {
            params.push(("lport".to_string(), port.to_string()));
        }
        if self.proxy {
            if let Some(proxied) = self.proxy_lookup(user, &params) {
                return proxied;
            }
        }
        let reply = match self.userdb.as_mut() {
            Some(client) => client.user(user, "lmtp", &params),
            None => return Lookup::TempFail,
        };
        match reply {
            Ok(UserReply::User { user: name, fields }) => {
                let claim = match &self.slots {
                    None => None,
                    // Counted by the user name the userdb gave, as Dovecot's anvil does.
                    Some(slots) => match slots.claim(&name) {
                        Ok(Some(slot)) => Some(slot),
                        Ok(None) => return Lookup::TooManyDeliveries,
                        Err(e) => {
                            log::error!("lmtp_user_concurrency_limit: {e}");
                            return Lookup::TempFail;
                        }
                    },
                };
                if self.settings.bool("lmtp_rcpt_check_quota") {
                    let vars = self.user_vars(&name, &fields, None);
                    let settings = self.settings;
                    let checked = as_recipient(settings, &fields, vars, |vars| {
                        check_quota(settings, &fields, vars)
                    });
                    match checked {
                        Delivered::Saved => {}
                        Delivered::OverQuota { text, temporary } => {
                            return Lookup::OverQuota { text, temporary }
                        }
                        _ => return Lookup::TempFail,
                    }
                }
                self.users.insert(user.to_string(), (name, fields));
                Lookup::Found(claim)
            }
            Ok(UserReply::NotFound) => Lookup::NotFound,
            Ok(UserReply::Fail { reason }) => {
                log::error!(
                    "Failed to lookup user {user}: {}",
                    reason.unwrap_or_else(|| "Internal error".into())
                );
                Lookup::TempFail
            }
            Err(e) => {
                // The connection is unusable; the next lookup reconnects.
                self.userdb = None;
                log::error!(
                    "Failed to lookup user {user}: {}",
                    cote::errtext::os_error_text(&e)
                );
                Lookup::TempFail
            }
        }
    }

    fn message_buffer(&mut self) -> MessageBuffer {
        MessageBuffer::new(&self.temp_dir, "lmtp")
    }

    fn deliver(&mut self, rcpt: &Recipient, message: &[u8]) -> Delivered {
        let Some((name, fields)) = self.users.get(&rcpt.user) else {
            return internal_failure();
        };
        let vars = self.user_vars(name, fields, Some(rcpt.session_id.clone()));
        let settings = self.settings;
        as_recipient(settings, fields, vars, |vars| {
            save_mail(settings, fields, vars, &rcpt.detail, message)
        })
    }
}

impl UserDelivery<'_> {
    /// The mail variables of a recipient the userdb found.
    fn user_vars(
        &self,
        name: &str,
        fields: &[(String, String)],
        session: Option<String>,
    ) -> MailUserVars {
        MailUserVars {
            user: name.to_string(),
            service: "lmtp".into(),
            local_ip: self.local_ip.clone(),
            remote_ip: self.remote_ip.clone(),
            session,
            userdb_fields: Some(fields.to_vec()),
            ..MailUserVars::default()
        }
    }
}

/// As the recipient: whether their INBOX is over quota already (`lmtp_rcpt_check_quota`):
/// `Saved` when it is not.
fn check_quota(settings: &Settings, fields: &[(String, String)], vars: MailUserVars) -> Delivered {
    let info = MailUserInfo::from_vars(&vars, fields);
    let user = match MailUser::new(settings, info) {
        Ok(u) => u,
        Err(e) => return failure(e, settings),
    };
    let Some(quota) = user.quota() else {
        return Delivered::Saved;
    };
    let checked = quota.borrow_mut().check_over("INBOX");
    match checked {
        Ok(()) => Delivered::Saved,
        Err(e) if e.kind() == ErrorKind::NoQuota => Delivered::OverQuota {
            text: e.client_text().to_string(),
            temporary: settings.bool("quota_full_tempfail"),
        },
        Err(e) => failure(e, settings),
    }
}

/// Runs `work` as the recipient (see the module comment): here when not root, with a
/// temporary identity as root, in a child that chroots for a chrooted recipient.
fn as_recipient(
    settings: &Settings,
    fields: &[(String, String)],
    mut vars: MailUserVars,
    work: impl FnOnce(MailUserVars) -> Delivered,
) -> Delivered {
    let restrict = match mail_user_restrict(settings, fields, &mut vars) {
        Ok(r) => r,
        Err(e) => {
            log::error!("{e}");
            return internal_failure();
        }
    };
    if !privileges::is_root() {
        return in_process(|| work(vars));
    }
    if restrict.chroot.is_some() {
        return in_child(|| match privileges::restrict_access(&restrict) {
            Ok(()) => work(vars),
            Err(e) => {
                log::error!("{e}");
                internal_failure()
            }
        });
    }
    as_user_for_now(&restrict, || work(vars))
}

/// Runs `work` with `restrict`'s effective identity, root's again afterwards.
fn as_user_for_now(restrict: &Restrict, work: impl FnOnce() -> Delivered) -> Delivered {
    let identity = match privileges::become_temporarily(restrict) {
        Ok(identity) => identity,
        Err(e) => {
            log::error!("{e}");
            return internal_failure();
        }
    };
    let result = in_process(work);
    drop(identity);
    result
}

/// Runs `work` here; its log prefix is undone and a panic becomes a temporary failure.
fn in_process(work: impl FnOnce() -> Delivered) -> Delivered {
    let prefix = cote::log::prefix();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
        .unwrap_or_else(|_| internal_failure());
    cote::log::set_prefix(&prefix);
    result
}

fn internal_failure() -> Delivered {
    Delivered::TempFail {
        text: "Temporary internal error".into(),
        internal: true,
    }
}

/// Runs `work` in a child process (which becomes the user there, for good) and returns its
/// result.
fn in_child(work: impl FnOnce() -> Delivered) -> Delivered {
    let (mut parent_end, mut child_end) = match UnixStream::pair() {
        Ok(p) => p,
        Err(e) => {
            log::error!("socketpair() failed: {}", cote::errtext::os_error_text(&e));
            return internal_failure();
        }
    };
    // SAFETY: the lmtp worker is single-threaded; the child only runs `work` and exits.
    match unsafe { nix::unistd::fork() } {
        Err(e) => {
            log::error!("fork() failed: {}", e.desc());
            internal_failure()
        }
        Ok(nix::unistd::ForkResult::Child) => {
            drop(parent_end);
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
                .unwrap_or_else(|_| internal_failure());
            let _ = child_end.write_all(encode(&result).as_bytes());
            drop(child_end);
            std::process::exit(0)
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            drop(child_end);
            let mut answer = String::new();
            let read = parent_end.read_to_string(&mut answer);
            let _ = nix::sys::wait::waitpid(child, None);
            match read {
                Ok(_) => decode(&answer).unwrap_or_else(|| {
                    log::error!("Delivery process {child} ended without a result");
                    internal_failure()
                }),
                Err(e) => {
                    log::error!(
                        "Reading the delivery result failed: {}",
                        cote::errtext::os_error_text(&e)
                    );
                    internal_failure()
                }
            }
        }
    }
}

/// A result over the child's socket: `KIND\ttext`.
fn encode(d: &Delivered) -> String {
    let (kind, text) = match d {
        Delivered::Saved => ("saved", ""),
        Delivered::TempFail {
            text,
            internal: true,
        } => ("internal", text.as_str()),
        Delivered::TempFail { text, .. } => ("temp", text.as_str()),
        Delivered::OverQuota {
            text,
            temporary: true,
        } => ("quota-temp", text.as_str()),
        Delivered::OverQuota { text, .. } => ("quota", text.as_str()),
        Delivered::Rejected(text) => ("rejected", text.as_str()),
    };
    format!("{kind}\t{}", text.replace(['\t', '\r', '\n'], " "))
}

fn decode(s: &str) -> Option<Delivered> {
    let (kind, text) = s.split_once('\t')?;
    let text = text.to_string();
    Some(match kind {
        "saved" => Delivered::Saved,
        "internal" => Delivered::TempFail {
            text,
            internal: true,
        },
        "temp" => Delivered::TempFail {
            text,
            internal: false,
        },
        "quota-temp" => Delivered::OverQuota {
            text,
            temporary: true,
        },
        "quota" => Delivered::OverQuota {
            text,
            temporary: false,
        },
        "rejected" => Delivered::Rejected(text),
        _ => return None,
    })
}

/// Saves `message` into the detail mailbox (`lmtp_save_to_detail_mailbox`) or INBOX, as
/// the user this process now is.
fn save_mail(
    settings: &Settings,
    fields: &[(String, String)],
    vars: MailUserVars,
    detail: &str,
    message: &[u8],
) -> Delivered {
    let expanded = Vars::mail_user(&vars);
    match var_expand::expand(settings.str("mail_log_prefix"), &expanded) {
        Ok(prefix) => cote::log::set_prefix(&prefix),
        Err(e) => log::error!("Failed to expand mail_log_prefix: {e}"),
    }
    let info = MailUserInfo::from_vars(&vars, fields);
    let mut user = match MailUser::new(settings, info) {
        Ok(u) => u,
        Err(e) => return failure(e, settings),
    };
    let wanted = if settings.bool("lmtp_save_to_detail_mailbox") && !detail.is_empty() {
        detail
    } else {
        "INBOX"
    };
    let autocreate = settings.bool("lda_mailbox_autocreate");
    match delivery::deliver(&mut user, wanted, autocreate, message) {
        Ok(_) => Delivered::Saved,
        Err(e) => failure(e, settings),
    }
}

/// A storage failure as the recipient's reply (over quota: temporary with
/// `quota_full_tempfail`).
fn failure(e: StorageError, settings: &Settings) -> Delivered {
    let text = e.client_text().to_string();
    // Over quota is the user's state, not a fault: the delivery's info line says it. An
    // internal error is logged once with its context (storage may have done it already).
    let e = e.log_once();
    if e.internal().is_none() && e.kind() != ErrorKind::NoQuota {
        log::error!("Saving the message failed: {text}");
    }
    match e.kind() {
        ErrorKind::NoQuota => Delivered::OverQuota {
            text,
            temporary: settings.bool("quota_full_tempfail"),
        },
        ErrorKind::Temp | ErrorKind::Unavailable | ErrorKind::InUse => Delivered::TempFail {
            text,
            internal: e.internal().is_some(),
        },
        _ => Delivered::Rejected(text),
    }
}
