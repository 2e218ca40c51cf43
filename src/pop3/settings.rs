//! What a POP3 mail session takes from the configuration (Dovecot's `pop3_*` settings), read
//! once for the user's connection.

use std::fmt;

use crate::config::Settings;

use super::uidl::UidlFormat;

/// `pop3_client_workarounds`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Workarounds {
    /// `outlook-no-nuls`: NUL bytes in messages are sent as 0x80.
    pub outlook_no_nuls: bool,
    /// `oe-ns-eoh`: a message without the empty line after its header gets one.
    pub oe_ns_eoh: bool,
}

impl Workarounds {
    /// Dovecot's parser: names separated by spaces or commas, any case.
    pub fn parse(list: &str) -> Result<Workarounds, String> {
        let mut w = Workarounds::default();
        crate::config::parse_workarounds(
            "pop3_client_workarounds",
            list,
            &mut [
                ("outlook-no-nuls", &mut w.outlook_no_nuls),
                ("oe-ns-eoh", &mut w.oe_ns_eoh),
            ],
        )?;
        Ok(w)
    }
}

/// What QUIT does to DELEted messages (`pop3_delete_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteType {
    Expunge,
    /// Add `pop3_deleted_flag` to them.
    Flag,
}

/// Whether duplicate UIDLs are sent as they are or made unique (`pop3_uidl_duplicates`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UidlDuplicates {
    Allow,
    /// A repeated UIDL gets `-2`, `-3`, ... appended.
    Rename,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pop3Settings {
    pub uidl_format: UidlFormat,
    pub save_uidl: bool,
    pub reuse_xuidl: bool,
    pub lock_session: bool,
    pub no_flag_updates: bool,
    pub enable_last: bool,
    pub workarounds: Workarounds,
    pub logout_format: String,
    pub delete_type: DeleteType,
    /// `pop3_deleted_flag`: messages with this keyword are not shown to POP3 clients.
    pub deleted_flag: Option<String>,
    pub fast_size_lookups: bool,
    pub uidl_duplicates: UidlDuplicates,
}

/// A setting a POP3 session cannot work with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pop3ConfigError(pub String);

impl fmt::Display for Pop3ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Pop3ConfigError {}

impl Pop3Settings {
    /// The settings of a user's connection (`settings` filtered for `protocol pop3` and the
    /// connection's addresses). Values the config layer already checked are trusted; what
    /// it can't check is refused with Dovecot's text.
    pub fn from_settings(settings: &Settings) -> Result<Pop3Settings, Pop3ConfigError> {
        let uidl_format = UidlFormat::new(settings.str("pop3_uidl_format"))
            .ok_or_else(|| Pop3ConfigError("Invalid pop3_uidl_format".into()))?;
        let deleted_flag = settings.str("pop3_deleted_flag");
        let delete_type = match (settings.str("pop3_delete_type"), deleted_flag) {
            ("expunge", _) | ("default", "") => DeleteType::Expunge,
            ("flag", "") => {
                return Err(Pop3ConfigError(
                    "pop3_delete_type=flag, but pop3_deleted_flag not set".into(),
                ))
            }
            ("flag" | "default", _) => DeleteType::Flag,
            (other, _) => {
                return Err(Pop3ConfigError(format!(
                    "pop3_delete_type: Unknown value '{other}'"
                )))
            }
        };
        Ok(Pop3Settings {
            uidl_format,
            save_uidl: settings.bool("pop3_save_uidl"),
            reuse_xuidl: settings.bool("pop3_reuse_xuidl"),
            lock_session: settings.bool("pop3_lock_session"),
            no_flag_updates: settings.bool("pop3_no_flag_updates"),
            enable_last: settings.bool("pop3_enable_last"),
            workarounds: Workarounds::parse(settings.str("pop3_client_workarounds"))
                .map_err(Pop3ConfigError)?,
            logout_format: settings.str("pop3_logout_format").to_string(),
            delete_type,
            deleted_flag: Some(deleted_flag.to_string()).filter(|f| !f.is_empty()),
            fast_size_lookups: settings.bool("pop3_fast_size_lookups"),
            uidl_duplicates: if settings.str("pop3_uidl_duplicates") == "rename" {
                UidlDuplicates::Rename
            } else {
                UidlDuplicates::Allow
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn load(text: &str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dovecot.conf");
        std::fs::write(&path, text).unwrap();
        Config::load(&path).unwrap()
    }

    #[test]
    fn defaults_and_values() {
        let s = Pop3Settings::from_settings(&load("").global()).unwrap();
        assert_eq!(s.uidl_format, UidlFormat::new("%08Xu%08Xv").unwrap());
        assert_eq!(s.delete_type, DeleteType::Expunge);
        assert_eq!(s.workarounds, Workarounds::default());
        assert_eq!(s.logout_format, "top=%t/%p, retr=%r/%b, del=%d/%m, size=%s");
        assert!(!s.enable_last && !s.lock_session && !s.save_uidl && !s.reuse_xuidl);
        let s = Pop3Settings::from_settings(
            &load(
                "pop3_deleted_flag = POP3Deleted\npop3_client_workarounds = oe-ns-eoh, Outlook-No-Nuls\n\
                 pop3_uidl_format = %g\npop3_uidl_duplicates = rename\n",
            )
            .global(),
        )
        .unwrap();
        assert_eq!(s.delete_type, DeleteType::Flag);
        assert_eq!(s.deleted_flag.as_deref(), Some("POP3Deleted"));
        assert!(s.workarounds.oe_ns_eoh && s.workarounds.outlook_no_nuls);
        assert_eq!(s.uidl_duplicates, UidlDuplicates::Rename);
        let s = Pop3Settings::from_settings(
            &load("pop3_deleted_flag = X\npop3_delete_type = expunge\n").global(),
        )
        .unwrap();
        assert_eq!(s.delete_type, DeleteType::Expunge);
        assert_eq!(s.deleted_flag.as_deref(), Some("X"));
        assert!(Workarounds::parse("nosuch").is_err());
    }
}
