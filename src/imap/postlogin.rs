//! The authenticated state: the mail process answers the login command (`OK [CAPABILITY
//! ...] Logged in`), sets up the user's storage, and runs the IMAP session
//! ([`crate::imap::session::Session`]) over it ([`StorageSession`]) until the client logs
//! out or goes away; then logs Dovecot's `Disconnected:` line with `imap_logout_format`.
//!
//! The process has already become the user when this runs (see `master::mail_login`).

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use crate::config::var_expand::{self, Layered, VarTable, Vars};
use crate::config::Settings;
use crate::imap::capability::{add_capability, postlogin_capability};
use crate::imap::session::{Disconnect, Session, SessionSettings, SessionStats, WaitInput, Wake};
use crate::imap::storage_session::StorageSession;
use crate::net::counted::Prefixed;
use crate::net::quickack::QuickAck;
use crate::net::SocketTimeouts;
use crate::storage::error::CRITICAL_TEXT;
use crate::storage::user::{MailUser, MailUserInfo};

/// Dovecot's autologout for an idle authenticated client (`CLIENT_IDLE_TIMEOUT_MSECS`).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// How the login command is answered: its tag (none for a pre-authenticated session), and
/// whether the client asked CAPABILITY before logging in (it then gets the list untagged,
/// as Dovecot sends it to clients that ignore the response code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginReply {
    pub tag: String,
    pub untagged_capability: bool,
}

impl LoginReply {
    /// The hand-off's protocol data (Dovecot's imap-login prefix): `0`/`1`, the tag, NUL.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![if self.untagged_capability { b'1' } else { b'0' }];
        out.extend_from_slice(self.tag.as_bytes());
        out.push(0);
        out
    }

    pub fn decode(data: &[u8]) -> Option<LoginReply> {
        let (flag, rest) = data.split_first()?;
        let tag = rest.strip_suffix(&[0])?;
        if tag.is_empty() || tag.contains(&0) || !matches!(flag, b'0' | b'1') {
            return None;
        }
        Some(LoginReply {
            tag: String::from_utf8(tag.to_vec()).ok()?,
            untagged_capability: *flag == b'1',
        })
    }
}

/// The client's input: what the login process had read already, then the socket.
impl<S: WaitInput + AsFd> WaitInput for QuickAck<S> {
    fn wait_input(&self, timeout: Duration, change: Option<BorrowedFd<'_>>) -> io::Result<Wake> {
        self.get_ref().wait_input(timeout, change)
    }
}

impl<S: WaitInput> WaitInput for Prefixed<S> {
    fn wait_input(&self, timeout: Duration, change: Option<BorrowedFd<'_>>) -> io::Result<Wake> {
        if self.has_prefix() {
            return Ok(Wake::Input);
        }
        self.get_ref().wait_input(timeout, change)
    }
}

/// The settings of the authenticated state that do not depend on the user.
#[derive(Debug, Clone)]
pub struct PostloginSettings {
    /// The session's settings (its capability list is completed per user).
    pub session: SessionSettings,
    pub imap_capability: String,
    pub imap_literal_minus: bool,
    pub imap_logout_format: String,
    /// `mailbox_idle_check_interval`.
    pub idle_check_interval: Duration,
}

impl PostloginSettings {
    pub fn from_settings(settings: &Settings) -> Result<PostloginSettings, String> {
        let mut session =
            SessionSettings::from_settings(settings, String::new()).map_err(|e| e.to_string())?;
        session.max_mail_size = quota_max_mail_size(settings)?;
        Ok(PostloginSettings {
            session,
            imap_capability: settings
                .read("imap_capability")
                .map_err(|e| e.to_string())?,
            imap_literal_minus: settings.bool("imap_literal_minus"),
            imap_logout_format: settings
                .read("imap_logout_format")
                .map_err(|e| e.to_string())?,
            idle_check_interval: settings.time("mailbox_idle_check_interval"),
        })
    }
}

/// The quota plugin's `quota_max_mail_size` (`plugin { }`), when `mail_plugins` loads
/// `quota`: the largest message APPEND takes (`NO [TOOBIG]` beyond; APPENDLIMIT). The rest
/// of the quota plugin is `storage::quota`.
fn quota_max_mail_size(settings: &Settings) -> Result<Option<u64>, String> {
    if !crate::storage::plugins::loaded(settings, "quota") {
        return Ok(None);
    }
    let Some((_, value)) = settings
        .strlist("plugin")
        .into_iter()
        .find(|(k, _)| *k == "quota_max_mail_size")
    else {
        return Ok(None);
    };
    let size = crate::config::parse_size(value).map_err(|e| format!("quota_max_mail_size: {e}"))?;
    Ok((size > 0).then_some(size))
}

/// Serves an authenticated client: `reader` and `writer` are the two directions of its
/// socket, `input` what it had already sent, `user` who logged in, `user_lookup` how to
/// find other users (shared namespaces). Logs Dovecot's `Disconnected:` line with
/// `imap_logout_format` expanded (with `vars`, the user's mail variables).
#[allow(clippy::too_many_arguments)]
pub fn serve_postlogin<S: Read + Write + WaitInput + SocketTimeouts + AsFd>(
    reader: S,
    mut writer: S,
    input: Vec<u8>,
    login: &LoginReply,
    config: &Settings,
    settings: &PostloginSettings,
    user: MailUserInfo,
    vars: &Vars,
    user_lookup: Box<dyn crate::storage::shared::UserLookup>,
) {
    let _ = reader.set_read_timeout(Some(IDLE_TIMEOUT));
    let _ = writer.set_write_timeout(Some(IDLE_TIMEOUT));
    let user_name = user.username.clone();
    let user = match MailUser::new(config, user) {
        Ok(mut user) => {
            user.set_user_lookup(user_lookup);
            user
        }
        Err(e) => {
            log::error!("{}", e.internal().unwrap_or(e.client_text()));
            let text = format!(
                "{} OK Logged in, but initialization failed.\r\n* BYE {CRITICAL_TEXT}\r\n",
                login.tag
            );
            let _ = writer.write_all(text.as_bytes());
            return;
        }
    };
    let mut mail = StorageSession::new(user, settings.idle_check_interval);
    let mut session_settings = settings.session.clone();
    if config.bool("verbose_proctitle") {
        let var = |key| vars.short(key).unwrap_or_default();
        session_settings.proctitle_who = Some(format!("{} {}", var(b'u'), var(b'r')));
    }
    // METADATA as Dovecot offers it: `imap_metadata = yes` and a dict that works.
    let metadata = session_settings.metadata && mail.attributes_enabled();
    let mut storage_caps: Vec<&str> = Vec::new();
    // NOTIFY as Dovecot offers it: with mailbox list indexes (its default).
    if config.bool("mailbox_list_index") {
        storage_caps.push(crate::imap::session::NOTIFY_CAPABILITY);
    }
    // URLAUTH as Dovecot offers it: `imap_urlauth_host` and `mail_attribute_dict` set.
    if let Some(urlauth) = session_settings.urlauth.as_mut() {
        if mail.user().attributes().configured() {
            urlauth.user = user_name.clone();
            storage_caps.extend(crate::imap::urlauth::CAPABILITIES);
        } else {
            session_settings.urlauth = None;
        }
    }
    if metadata {
        storage_caps.push(crate::imap::session::METADATA_CAPABILITY);
    }
    session_settings.capability = postlogin_capability(
        &settings.imap_capability,
        settings.imap_literal_minus,
        &storage_caps,
        mail.has_special_use_mailboxes(),
    );
    // RFC 7889, as Dovecot 2.4 offers it with its quota plugin's maximum message size.
    if let Some(limit) = session_settings.max_mail_size {
        add_capability(
            &mut session_settings.capability,
            &settings.imap_capability,
            &format!("APPENDLIMIT={limit}"),
        );
    }
    if session_settings.compress_level.is_some() {
        add_capability(
            &mut session_settings.capability,
            &settings.imap_capability,
            crate::imap::session::COMPRESS_CAPABILITY,
        );
    }
    // Dovecot's plugins add theirs in this order (imap_zlib's, then imap_quota's).
    if session_settings.quota {
        add_capability(
            &mut session_settings.capability,
            &settings.imap_capability,
            crate::imap::session::QUOTA_CAPABILITY,
        );
    }
    // imap_acl's hook runs after imap_quota's (its module loads first).
    if session_settings.acl {
        for cap in crate::imap::session::ACL_CAPABILITIES {
            add_capability(
                &mut session_settings.capability,
                &settings.imap_capability,
                cap,
            );
        }
    }
    let input = Prefixed::new(input, QuickAck::new(reader));
    let mut session = Session::new(&mut mail, input, writer, &session_settings);
    let capability = session_settings.capability.clone();
    let reply = if login.untagged_capability {
        format!("* CAPABILITY {capability}\r\n{} OK Logged in", login.tag)
    } else {
        format!("{} OK [CAPABILITY {capability}] Logged in", login.tag)
    };
    let end = match session.login_reply(reply.as_bytes()) {
        Ok(()) => session.run(),
        Err(end) => end,
    };
    let stats = session.stats();
    drop(session);
    let reason = match &end {
        Disconnect::Inactivity => {
            format!("Inactivity - no input for {} secs", IDLE_TIMEOUT.as_secs())
        }
        other => other.to_string(),
    };
    let stats = logout_stats(&settings.imap_logout_format, vars, &stats);
    log::info!("Disconnected: {reason} {stats}");
}

/// `imap_logout_format` for this session (`%{autoexpunged}` is 0: cote has no
/// autoexpunge yet).
fn logout_stats(format: &str, user_vars: &Vars, stats: &SessionStats) -> String {
    let mut vars = Vars::new();
    stats.set_vars(&mut vars);
    vars.set(None, Some("autoexpunged"), Some("0"));
    // The logout variables first, then the user's (where `%i` is the uid).
    let table = Layered {
        first: &vars,
        then: user_vars,
    };
    var_expand::expand(format, &table).unwrap_or_else(|e| {
        log::error!("Failed to expand imap_logout_format={format}: {e}");
        format!("in={} out={}", stats.input, stats.output)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_round_trip() {
        let r = LoginReply {
            tag: "a.1".into(),
            untagged_capability: true,
        };
        assert_eq!(r.encode(), b"1a.1\0");
        assert_eq!(LoginReply::decode(&r.encode()), Some(r));
        assert_eq!(LoginReply::decode(b"2a\0"), None);
        assert_eq!(LoginReply::decode(b"0\0"), None);
        assert_eq!(LoginReply::decode(b"0a"), None);
    }

    #[test]
    fn logout_format_counters() {
        let vars = Vars::mail_user(&var_expand::MailUserVars {
            user: "alice".into(),
            uid: Some(1000),
            ..Default::default()
        });
        let stats = SessionStats {
            input: 12,
            output: 34,
            deleted: 2,
            ..SessionStats::default()
        };
        assert_eq!(
            logout_stats(
                "in=%i out=%o deleted=%{deleted} autoexpunged=%{autoexpunged} u=%u",
                &vars,
                &stats
            ),
            "in=12 out=34 deleted=2 autoexpunged=0 u=alice"
        );
    }

    #[test]
    fn prefixed_input_is_ready_at_once() {
        let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut input = Prefixed::new(b"x".to_vec(), a);
        assert_eq!(
            input.wait_input(Duration::from_secs(10), None).unwrap(),
            Wake::Input
        );
        let mut buf = [0u8; 4];
        assert_eq!(input.read(&mut buf).unwrap(), 1);
        assert_eq!(
            input.wait_input(Duration::from_millis(1), None).unwrap(),
            Wake::Timeout
        );
        b.write_all(b"y").unwrap();
        assert_eq!(input.read(&mut buf).unwrap(), 1);
        assert_eq!(&buf[..1], b"y");
    }
}
